// Renders the chart as `helm template --strict` would, for test/helm/render.test.ts: Helm itself
// cannot be installed on the project's machines, but its template engine is Go's text/template with
// the sprig functions (Debian: golang-github-masterminds-sprig-dev) and a few of Helm's own
// (toYaml, fromYaml, include, required), values merged as Helm merges them, .Files read through
// symbolic links as Helm's loader reads them, and a missing key is an error (helm lint --strict).
// Not rendered like Helm: lint mode (where fail and required are ignored), lookup, Capabilities.
//
// usage: render <chart dir> [-f values.yaml | --set-file key=path | --set-json key=json]...
// prints {"files": {"<chart>/templates/x.yaml": "..."}} or {"error": "..."} (exit status 1).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type Files map[string][]byte

func (f Files) Get(name string) string { return string(f[name]) }
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for k, v := range f {
		if ok, _ := path.Match(pattern, k); ok {
			out[k] = v
		}
	}
	return out
}

func coalesce(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				coalesce(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func readYAML(file string) map[string]interface{} {
	b, err := ioutil.ReadFile(file)
	if err != nil {
		panic(err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("%s: %v", file, err))
	}
	return m
}

func walk(root, rel string, files Files, skip func(string, bool) bool) {
	entries, err := ioutil.ReadDir(filepath.Join(root, rel))
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		r := path.Join(rel, e.Name())
		st, err := os.Stat(filepath.Join(root, r)) // follows links, as Helm's loader does
		if err != nil {
			panic(fmt.Sprintf("cannot load %s: %v", r, err))
		}
		if skip(r, st.IsDir()) {
			continue
		}
		if st.IsDir() {
			walk(root, r, files, skip)
		} else {
			b, _ := ioutil.ReadFile(filepath.Join(root, r))
			files[r] = b
		}
	}
}

func main() {
	// usage: render <chartdir> [-f values.yaml]... [--set-file key=path]... [--set key=string]...
	chartDir := os.Args[1]
	vals := readYAML(filepath.Join(chartDir, "values.yaml"))
	for i := 2; i < len(os.Args); i += 2 {
		switch os.Args[i] {
		case "-f":
			coalesce(vals, readYAML(os.Args[i+1]))
		case "--set-file":
			kv := strings.SplitN(os.Args[i+1], "=", 2)
			b, err := ioutil.ReadFile(kv[1])
			if err != nil {
				panic(err)
			}
			vals[kv[0]] = string(b)
		case "--set-json":
			kv := strings.SplitN(os.Args[i+1], "=", 2)
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(`{"`+kv[0]+`": `+kv[1]+`}`), &m); err != nil {
				panic(err)
			}
			coalesce(vals, m)
		}
	}
	chart := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	all := Files{}
	// The chart's .helmignore in short: dot files, and the promtool tests beside the alert rules.
	walk(chartDir, "", all, func(r string, dir bool) bool {
		return r == "files/alerts/tests" || strings.HasPrefix(path.Base(r), ".")
	})
	files := Files{}
	var names []string
	for k, v := range all {
		if strings.HasPrefix(k, "templates/") {
			names = append(names, k)
		} else {
			files[k] = v
		}
	}
	sort.Strings(names)
	name := chart["name"].(string)

	t := template.New("gotpl").Option("missingkey=error")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = func(v interface{}) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["include"] = func(n string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, n, data)
		return buf.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(...string) map[string]interface{} { return map[string]interface{}{} }
	t.Funcs(funcs)
	for _, n := range names {
		if _, err := t.New(path.Join(name, n)).Parse(string(all[n])); err != nil {
			emit(map[string]interface{}{"error": err.Error()}, 1)
		}
	}
	top := map[string]interface{}{
		"Values":       vals,
		"Chart":        map[string]interface{}{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
		"Release":      map[string]interface{}{"Name": "broker", "Namespace": "telework", "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Files":        files,
		"Capabilities": map[string]interface{}{},
	}
	rendered := map[string]string{}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		full := path.Join(name, n)
		top["Template"] = map[string]interface{}{"Name": full, "BasePath": path.Join(name, "templates")}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, full, top); err != nil {
			emit(map[string]interface{}{"error": err.Error()}, 1)
		}
		rendered[full] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	emit(map[string]interface{}{"files": rendered}, 0)
}

func emit(v interface{}, status int) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(b)
	os.Exit(status)
}
