package images

import (
	"context"
	"log/slog"

	"github.com/gameday-sre/gameday/infra/aws"
)

// motoPackages are the Debian packages of the offline moto image: moto
// and what its server imports beyond moto's own dependencies. debootstrap
// does not resolve virtual packages: python3-cryptography needs
// python3-cffi-backend named.
var motoPackages = []string{"python3-moto", "python3-cffi-backend", "python3-flask-cors", "python3-yaml", "python3-pyparsing", "python3-jsondiff"}

// motoSetup checks that the server imports, and drops apt's caches.
var motoSetup = []byte(`#!/bin/sh
set -eu
python3 -c 'import moto.server, flask_cors; print("moto", __import__("moto").__version__)'
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old
`)

// BuildMotoImage builds aws.BuiltMotoImage from Debian's python3-moto on
// a debootstrapped Debian, serving on port 5000 on every address like
// moto's own image, unless the engine has it from the same inputs. It
// needs root and debootstrap.
func BuildMotoImage(ctx context.Context, eng nodeEngine, opts ...BuildOption) (Built, error) {
	o := nodeOptions{buildOptions: buildOptions{log: slog.New(slog.DiscardHandler)}, mirror: debianMirror()}
	for _, opt := range opts {
		opt(&o.buildOptions)
	}
	if err := checkNodeTools(); err != nil {
		return Built{}, err
	}
	if err := o.ensureCacheDir(); err != nil {
		return Built{}, err
	}
	return buildRootImage(ctx, eng, rootImage{
		ref:      aws.BuiltMotoImage,
		from:     "Debian " + aws.BuiltMotoSuite + "'s python3-moto (" + o.mirror + ")",
		suite:    aws.BuiltMotoSuite,
		packages: motoPackages,
		setup:    motoSetup,
		changes: []string{
			`ENTRYPOINT ["python3", "-m", "moto.server", "-H", "0.0.0.0", "-p", "5000"]`,
			"EXPOSE 5000",
		},
	}, o)
}
