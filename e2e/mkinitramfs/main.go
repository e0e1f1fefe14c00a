// Command mkinitramfs packs a directory into a gzip-compressed initramfs
// (a "newc" cpio archive) without the cpio program, and can add kernel
// modules to it in the order they must be loaded. scripts/build-guest uses
// it to build the guest of the end-to-end tests in package e2e.
//
// Usage:
//
//	go run ./e2e/mkinitramfs -o OUT.cpio.gz [-modules DIR -load NAME,...] STAGE
//
// Every file, directory and symbolic link under STAGE goes into the archive
// with its permission bits, owned by root. The archive also gets the
// character device dev/console (5:1), unless STAGE has it, because the
// kernel opens it for /init's standard streams before /init can mount
// devtmpfs.
//
// With -load, the named modules and the modules they depend on are looked
// up in the module tree DIR (such as lib/modules/6.1.0-57-cloud-amd64 from
// a kernel package), copied to lib/modules/NAME.ko, and listed in
// etc/modules one name per line, dependencies first. The order is printed
// on standard output, separated by spaces.
//
// The output is written to a temporary file next to OUT and renamed, so
// OUT is either the old archive or the complete new one. Equal input gives
// an equal archive.
package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("o", "", "output `file` (a gzip-compressed cpio archive); required")
	modulesDir := flag.String("modules", "", "kernel module tree `dir` that -load searches, such as lib/modules/VERSION")
	load := flag.String("load", "", "comma-separated module `names` to load at boot; their dependencies are added")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkinitramfs -o OUT.cpio.gz [-modules DIR -load NAME,...] STAGE\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 1 || (*load != "") != (*modulesDir != "") {
		flag.Usage()
		os.Exit(2)
	}

	order, err := build(*out, flag.Arg(0), *modulesDir, splitList(*load))
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(order, " "))
}

func splitList(s string) []string {
	var names []string
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// build writes the archive to out and returns the module load order.
func build(out, stage, modulesDir string, load []string) ([]string, error) {
	var modules []module
	if len(load) > 0 {
		src, err := newTreeSource(modulesDir)
		if err != nil {
			return nil, err
		}
		if modules, err = resolveLoadOrder(src, load); err != nil {
			return nil, err
		}
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename

	zw, err := gzip.NewWriterLevel(tmp, gzip.BestCompression)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	cw := newCPIOWriter(zw)
	err = writeArchive(cw, stage, modules)
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		// CreateTemp makes the file private, but the archive should be as
		// readable as the kernel image next to it.
		err = tmp.Chmod(0o644)
	}
	err = errors.Join(err, tmp.Close())
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}

	names := make([]string, len(modules))
	for i, m := range modules {
		names[i] = m.name
	}
	return names, nil
}

// writeArchive adds the stage tree, dev/console and the modules to cw.
func writeArchive(cw *cpioWriter, stage string, modules []module) error {
	if err := addTree(cw, stage); err != nil {
		return err
	}
	if !cw.written["dev/console"] {
		if err := cw.CharDevice("dev/console", 0o600, 5, 1); err != nil {
			return err
		}
	}
	if len(modules) == 0 {
		return nil
	}

	var list strings.Builder
	for _, m := range modules {
		data, err := os.ReadFile(m.path)
		if err != nil {
			return err
		}
		if err := cw.File("lib/modules/"+m.name+".ko", 0o644, data); err != nil {
			return err
		}
		list.WriteString(m.name + "\n")
	}
	return cw.File("etc/modules", 0o644, []byte(list.String()))
}

// addTree adds every entry under root, in lexical order so that each
// directory comes before its contents.
func addTree(cw *cpioWriter, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}

		switch mode := info.Mode(); {
		case mode.IsDir():
			return cw.Dir(name, mode)
		case mode.IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return cw.File(name, mode, data)
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return cw.Symlink(name, target)
		default:
			return fmt.Errorf("add %s: unsupported file type %s (only directories, regular files and symbolic links)", p, mode.Type())
		}
	})
}
