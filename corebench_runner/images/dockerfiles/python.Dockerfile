# corebench/python: Python 3 with the scientific stack, all from Debian (no PyPI at build time).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv python-is-python3 \
      python3-numpy python3-scipy python3-pandas python3-matplotlib python3-sklearn python3-statsmodels \
 && rm -rf /var/lib/apt/lists/* \
 && dpkg-query -W > /usr/local/share/corebench/packages.txt
# Agents install what a paper needs with plain `pip install`; Debian's PEP 668 guard would refuse.
ENV PIP_BREAK_SYSTEM_PACKAGES=1 \
    MPLBACKEND=Agg
