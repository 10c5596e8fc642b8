# Janus WebRTC server (Debian package) for trying Wallflower locally:
# VideoRoom plugin + WebSocket transport only, config in docker/janus/.
# Build context is the docker/ directory:
#   docker build -f docker/janus.Dockerfile -t wallflower-janus docker
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends janus \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin janus
COPY janus/*.jcfg /etc/janus/
USER janus
# WebSocket API; RTP/RTCP range must match media.rtp_port_range in janus.jcfg.
EXPOSE 8188 20000-20100/udp
# -F: configs folder, -o: no colours in the log. Runs in the foreground.
ENTRYPOINT ["janus", "-F", "/etc/janus", "-o"]
