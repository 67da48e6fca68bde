// Package config reads gameday's user configuration file: the defaults a
// user wants on this machine, such as the backend and the AWS emulator.
// Flags override it; a missing file is no configuration.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// Emulators are the values of aws:, as for gameday run --aws.
var Emulators = []string{"auto", "moto", "moto-container", "localstack"}

// File is the configuration file's content.
type File struct {
	// Infra is the default backend: embedded or kind.
	Infra string `yaml:"infra"`
	// AWS is the default AWS emulator: auto, moto, moto-container or
	// localstack.
	AWS string `yaml:"aws"`
}

// Path returns the configuration file's path: $GAMEDAY_CONFIG, else
// $XDG_CONFIG_HOME/gameday/config.yaml, else
// ~/.config/gameday/config.yaml.
func Path() (string, error) {
	if p := os.Getenv("GAMEDAY_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config file: %w", err)
	}
	return filepath.Join(dir, "gameday", "config.yaml"), nil
}

// Load reads the file at path. A missing file gives an empty File;
// unknown keys and bad values are errors (kind Invalid) naming the file.
func Load(path string) (File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return File{}, nil
	}
	if err != nil {
		return File{}, errkind.E(errkind.Invalid, fmt.Errorf("config file: %w", err))
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = strings.ReplaceAll(strings.Join(te.Errors, "; "), " in type config.File", "") + " (known keys: infra, aws)"
		}
		return File{}, errkind.Errorf(errkind.Invalid, "config file %s: %s", path, msg)
	}
	if f.Infra != "" && !slices.Contains(scenarios.Infras, f.Infra) {
		return File{}, errkind.Errorf(errkind.Invalid, "config file %s: infra: must be one of %s, got %q", path, strings.Join(scenarios.Infras, ", "), f.Infra)
	}
	if f.AWS != "" && !slices.Contains(Emulators, f.AWS) {
		return File{}, errkind.Errorf(errkind.Invalid, "config file %s: aws: must be one of %s, got %q", path, strings.Join(Emulators, ", "), f.AWS)
	}
	return f, nil
}

// Choice is a setting's value and where it came from.
type Choice struct {
	// Value is the chosen value.
	Value string
	// Source says where it came from: "--infra", "the scenario", "the
	// config file" or "the default".
	Source string
}

// ChooseInfra decides the backend: the flag, else the scenario's
// environment.infra, else the configuration file, else embedded.
func ChooseInfra(flag string, s *scenarios.Scenario, f File, configPath string) (Choice, error) {
	switch {
	case flag != "":
		if !slices.Contains(scenarios.Infras, flag) {
			return Choice{}, errkind.Errorf(errkind.Invalid, "unknown --infra %q (want %s)", flag, strings.Join(scenarios.Infras, " or "))
		}
		return Choice{flag, "--infra"}, nil
	case s != nil && s.Spec.Environment.Infra != "":
		return Choice{s.Spec.Environment.Infra, "scenario " + s.Metadata.Name}, nil
	case f.Infra != "":
		return Choice{f.Infra, configPath}, nil
	}
	return Choice{scenarios.InfraEmbedded, "the default"}, nil
}
