# corebench/base: Debian minbase (imported from debootstrap) + the CA bundle + an unprivileged user.
ARG ROOTFS
FROM ${ROOTFS}
# The host's CA bundle (empty when the setting is off) is appended to Debian's own, so that
# pip, curl, git and R trust a TLS-intercepting proxy as well as the public CAs.
COPY extra-ca.crt /tmp/extra-ca.crt
RUN mkdir -p /usr/local/share/corebench \
 && cat /etc/ssl/certs/ca-certificates.crt /tmp/extra-ca.crt > /usr/local/share/corebench/ca-bundle.crt \
 && rm /tmp/extra-ca.crt \
 && useradd --create-home --uid 1000 --shell /bin/bash agent \
 && mkdir -p /workspace && chown agent:agent /workspace \
 && dpkg-query -W > /usr/local/share/corebench/packages.txt
ENV LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive \
    SSL_CERT_FILE=/usr/local/share/corebench/ca-bundle.crt \
    PIP_CERT=/usr/local/share/corebench/ca-bundle.crt \
    REQUESTS_CA_BUNDLE=/usr/local/share/corebench/ca-bundle.crt \
    CURL_CA_BUNDLE=/usr/local/share/corebench/ca-bundle.crt \
    GIT_SSL_CAINFO=/usr/local/share/corebench/ca-bundle.crt
WORKDIR /workspace
CMD ["bash"]
