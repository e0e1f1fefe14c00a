package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// module is a kernel module file found in a module tree.
type module struct {
	name    string // as the kernel names it, with "_" for "-"
	path    string
	depends []string
}

// moduleName returns the kernel's name for a module file name such as
// "virtio-rng.ko": the base name without ".ko", with "-" replaced by "_",
// as kbuild does when it names a module after its file.
func moduleName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
}

// indexModules maps the name of every uncompressed module (*.ko) under dir
// to its path. Compressed modules (such as *.ko.xz) are listed in the
// second result, so that a lookup can report why it failed.
func indexModules(dir string) (map[string]string, map[string]string, error) {
	plain := make(map[string]string)
	compressed := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := d.Name()
		if strings.HasSuffix(base, ".ko") {
			plain[moduleName(base)] = p
			return nil
		}
		if i := strings.Index(base, ".ko."); i > 0 {
			compressed[moduleName(base[:i])] = p
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("index kernel modules in %s: %w", dir, err)
	}
	return plain, compressed, nil
}

// readModuleDepends returns the modules that the module file at path
// needs, from the "depends=" entry of its .modinfo ELF section. Debian's
// kernel packages ship no modules.dep (depmod runs at install time), so
// this entry is the only record of the dependencies.
func readModuleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	defer f.Close()
	section := f.Section(".modinfo")
	if section == nil {
		return nil, fmt.Errorf("read module %s: no .modinfo section", path)
	}
	data, err := section.Data()
	if err != nil {
		return nil, fmt.Errorf("read module %s: .modinfo: %w", path, err)
	}
	return parseModinfoDepends(data), nil
}

// parseModinfoDepends extracts the dependency list from the contents of a
// .modinfo section: NUL-separated "key=value" strings, where "depends" holds
// module names separated by commas and may be empty.
func parseModinfoDepends(modinfo []byte) []string {
	var depends []string
	for _, field := range bytes.Split(modinfo, []byte{0}) {
		value, ok := bytes.CutPrefix(field, []byte("depends="))
		if !ok {
			continue
		}
		for _, name := range strings.Split(string(value), ",") {
			if name = strings.TrimSpace(name); name != "" {
				depends = append(depends, strings.ReplaceAll(name, "-", "_"))
			}
		}
	}
	return depends
}

// moduleSource looks up modules by name. resolveLoadOrder takes it so that
// tests can run without real module files.
type moduleSource interface {
	lookup(name string) (module, error)
}

// treeSource finds modules in an unpacked kernel module tree.
type treeSource struct {
	dir        string
	plain      map[string]string
	compressed map[string]string
}

func newTreeSource(dir string) (*treeSource, error) {
	plain, compressed, err := indexModules(dir)
	if err != nil {
		return nil, err
	}
	return &treeSource{dir: dir, plain: plain, compressed: compressed}, nil
}

func (s *treeSource) lookup(name string) (module, error) {
	p, ok := s.plain[name]
	if !ok {
		if c, ok := s.compressed[name]; ok {
			return module{}, fmt.Errorf("module %s is only available compressed (%s), and mkinitramfs copies only uncompressed .ko files", name, c)
		}
		return module{}, fmt.Errorf("module %s not found in %s (it may be built into the kernel: check the kernel's config file)", name, s.dir)
	}
	depends, err := readModuleDepends(p)
	if err != nil {
		return module{}, err
	}
	return module{name: name, path: p, depends: depends}, nil
}

// resolveLoadOrder returns the requested modules and everything they
// depend on, each after all of its dependencies, so insmod can load them
// one by one in that order. Requested modules keep their given order where
// the dependencies allow.
func resolveLoadOrder(src moduleSource, requested []string) ([]module, error) {
	var order []module
	state := make(map[string]int) // 1 while its dependencies are visited, 2 once in order
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		m, err := src.lookup(name)
		if err != nil {
			if len(chain) > 0 {
				return fmt.Errorf("%w (needed by %s)", err, strings.Join(chain, " -> "))
			}
			return err
		}
		childChain := append(slices.Clip(chain), name)
		for _, d := range m.depends {
			if err := visit(d, childChain); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, m)
		return nil
	}
	for _, name := range requested {
		if err := visit(strings.ReplaceAll(name, "-", "_"), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
