# corebench/python-r: the generic toolbox used at easy and hard levels; built on corebench/python
# so the Python layers are shared.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends r-base-core r-recommended r-cran-jsonlite r-cran-ggplot2 \
 && rm -rf /var/lib/apt/lists/* \
 && dpkg-query -W > /usr/local/share/corebench/packages.txt
