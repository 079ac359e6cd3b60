# The image every process of the stack runs (compose.yaml): api, worker, scheduler, the
# migration job and, for staging, the provider sandbox. One image, one command per process.
#
#   docker build -t contact-orchestrator .
#
# Two stages: the first builds a virtual environment from constraints.txt (every version
# pinned, the same set CI tests), the second copies only that environment into a slim base
# and runs as an unprivileged user. Pin the base by digest in your registry mirror
# (python:3.11.7-slim-bookworm@sha256:…); this file names the tag the suite ran on.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/orchestrator
COPY pyproject.toml constraints.txt README.md ./
COPY orchestrator ./orchestrator
COPY channels ./channels
COPY config ./config
COPY templates ./templates
# A wheel, not an editable install: config/ and templates/ travel inside the package
# (orchestrator/_bundled). The sandbox extra is for staging; drop it from a production build
# with --build-arg EXTRAS= .
ARG EXTRAS=[sandbox]
RUN /opt/orchestrator/bin/pip install --constraint constraints.txt ".${EXTRAS}" \
 && /opt/orchestrator/bin/pip check

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /srv --create-home orchestrator
COPY --from=build /opt/orchestrator /opt/orchestrator
ENV PATH=/opt/orchestrator/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORCHESTRATOR_DATA_DIR=/srv/var \
    ORCHESTRATOR_LOG_FORMAT=json
WORKDIR /srv
USER 10001:10001
RUN mkdir -p /srv/var
EXPOSE 8000
# Secrets (DATABASE_URL's password, BROKER_URL's, provider credentials) come from the
# environment at run time, never from the image.
CMD ["orchestrator", "api"]
