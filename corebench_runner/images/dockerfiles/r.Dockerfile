# corebench/r: R with the recommended packages (MASS, survival, ...) and common r-cran-* from Debian.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends r-base-core r-recommended r-cran-jsonlite r-cran-ggplot2 \
 && rm -rf /var/lib/apt/lists/* \
 && dpkg-query -W > /usr/local/share/corebench/packages.txt
