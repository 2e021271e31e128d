# ccme-audit in a small image: `docker build -t ccme-audit .`, then for example
#   docker run --rm -v "$PWD:/work" ccme-audit iac infra/ --format sarif --output ccme.sarif
#   docker run --rm -e AWS_PROFILE -v "$HOME/.aws:/home/ccme/.aws:ro" ccme-audit scan --format text
# Two stages: the build stage installs ccme-audit with the iac extra into a virtual environment, the runtime
# stage copies only that environment onto the same slim base. No dev dependencies, no compiler, no pip cache,
# not root. Size: see docs/ci.md.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY auditor/ auditor/
COPY policies/ policies/
COPY schemas/ schemas/
COPY reports/templates/ reports/templates/
RUN python -m venv /opt/ccme-audit \
    && /opt/ccme-audit/bin/pip install --no-cache-dir -c constraints.txt ".[iac]" \
    && /opt/ccme-audit/bin/pip uninstall --yes pip \
    && find /opt/ccme-audit -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="ccme-audit" \
      org.opencontainers.image.description="Compliance auditor for CCME / AWS ParallelCluster accounts and infrastructure code" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin ccme
COPY --from=build /opt/ccme-audit /opt/ccme-audit
ENV PATH=/opt/ccme-audit/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["ccme-audit"]
CMD ["--help"]
