#!/bin/sh
# gameday: turns a debootstrapped Debian root into kind's base image.
# It runs inside the root (chroot), with the files of kind's base image
# (sigs.k8s.io/kind's images/base/files, from the kind module gameday
# links) in /tmp/kind-base-files. It does what kind's images/base
# Dockerfile does, except that containerd, runc and the CNI plugins come
# from Debian's packages instead of being built from their repositories.
set -eu
F=/tmp/kind-base-files

echo "installing kind's base files"
install -m 0755 "$F"/usr/local/bin/* /usr/local/bin/
mkdir -p /kind/bin /LICENSES /etc/systemd/system/kubelet.service.d
cp -R "$F"/kind/. /kind/
find /kind -type f -exec chmod 0644 {} +
chmod 0755 /kind /kind/bin /kind/bin/*
install -m 0644 "$F"/LICENSES/* /LICENSES/
install -m 0644 "$F"/etc/crictl.yaml /etc/
install -m 0644 -D "$F"/etc/containerd/config.toml /etc/containerd/config.toml
install -m 0644 "$F"/etc/default/* /etc/default/
install -m 0644 "$F"/etc/sysctl.d/* /etc/sysctl.d/
for f in "$F"/etc/systemd/system/*; do [ -f "$f" ] && install -m 0644 "$f" /etc/systemd/system/; done
install -m 0644 "$F"/etc/systemd/system/kubelet.service.d/* /etc/systemd/system/kubelet.service.d/

echo "trimming systemd to what a node container runs"
find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete
rm -f /lib/systemd/system/multi-user.target.wants/* \
      /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* \
      /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* \
      /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init

echo "placing Debian's containerd, runc and CNI plugins where kind's units look"
for b in containerd ctr containerd-shim-runc-v2; do ln -sf /usr/bin/$b /usr/local/bin/$b; done
mkdir -p /opt/cni
rm -rf /opt/cni/bin
ln -s /usr/lib/cni /opt/cni/bin
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json

echo "enabling the node's services"
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests /etc/cni/net.d

echo "dropping apt's caches"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /tmp/kind-base-files
containerd --version
runc --version | head -1
