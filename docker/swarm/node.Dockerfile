# One node of the local three-node Swarm (`make swarm-up`): a container that runs its own
# Docker engine. Build from the repository root:
#   docker build -f docker/swarm/node.Dockerfile -t redisapp/swarm-node .
# Debian's docker.io (the 20.10 engine, containerd, runc) and iptables-nft, as on the host.
# The node container needs every capability but SYS_RESOURCE, no seccomp/AppArmor confinement,
# the host's /sys/fs/cgroup and its /var/lib/docker on a host folder: docker/swarm/swarm.py
# starts it so.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
LABEL org.redisapp.component=swarm-node
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker.io iptables iproute2 procps \
    && rm -rf /var/lib/apt/lists/*
COPY docker/swarm/node-engine /usr/local/bin/node-engine
ENTRYPOINT ["/usr/local/bin/node-engine"]
