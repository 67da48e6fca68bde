package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	var out, errOut bytes.Buffer
	// The recorded events pass through a real command, as from go test.
	code, err := stream(&out, &errOut, filepath.Join(t.TempDir(), "rec.jsonl"), []string{"sh", "-c", "cat testdata/events.jsonl; echo not json; exit 3"})
	if err != nil || code != 3 {
		t.Fatalf("stream: code %d, %v", code, err)
	}
	want := "    p_test.go:9: got 1, want 2\n" + // the failed subtest's output
		"=== RUN   TestSlow\n--- FAIL: TestSlow (42.00s)\n" +
		"    d_test.go:3: skipped: the Docker engine lacks busybox:1.36.1\n--- SKIP: TestDocker (0.01s)\n" +
		"FAIL\nFAIL\texample.com/p\t42.2s\n" +
		"ok  \texample.com/q\t3.5s\n" +
		"FAIL\texample.com/broken [build failed]\n" +
		"not json\n"
	if out.String() != want {
		t.Errorf("echo:\n%s\nwant:\n%s", out.String(), want)
	}
	if errOut.String() != "" {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestSummarise(t *testing.T) {
	var out bytes.Buffer
	if err := summarise(&out, []string{"testdata/events.jsonl"}, 2); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"slowest tests:\n       42s  example.com/p TestSlow\n     100ms  example.com/p TestFast\npackage wall times:\n",
		"     42.2s  events  example.com/p fail\n      3.5s  events  example.com/q pass\n",
		"tests: 1 passed, 2 failed, 1 skipped\n", "       0s  events  example.com/broken fail\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestRecordsEvents(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "out", "rec.jsonl")
	for i := 0; i < 2; i++ { // appends
		if code, err := stream(&bytes.Buffer{}, &bytes.Buffer{}, rec, []string{"cat", "testdata/events.jsonl"}); code != 0 || err != nil {
			t.Fatalf("stream: %d, %v", code, err)
		}
	}
	var out bytes.Buffer
	if err := summarise(&out, []string{rec}, 10); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "tests: 2 passed, 4 failed, 2 skipped") {
		t.Errorf("summary of two recorded runs:\n%s", out.String())
	}
}
