// Package images is gameday's offline image factory: it builds, from
// Debian's packages and Go modules alone, the images the kind backend
// needs where no registry can be reached, and loads them into the local
// Docker engine. They are the app base (Debian's busybox-static, the
// base of every scenario image), the kind base and node images (a
// debootstrapped Debian with the node binaries built from
// nodeimage/go.mod) and the moto image. Each image carries a label of
// its inputs, so a rebuild with the same inputs is skipped
// (`make kind-images`, `gameday images`).
package images
