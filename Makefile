# Build targets that go beyond `go build ./...`.

GO ?= go
GOOS := $(shell $(GO) env GOOS)
PYTHON_LIB_EXT := $(if $(filter darwin,$(GOOS)),dylib,so)
PYTHON_LIB := python/smolvm_core/libsmolvmcore.$(PYTHON_LIB_EXT)

.PHONY: python clean-python

# The shared library that the smolvm_core Python package loads with ctypes.
# Go's build cache makes a rebuild without changes take about a second.
python:
	$(GO) build -buildmode=c-shared -o $(PYTHON_LIB) ./cmd/libsmolvmcore

clean-python:
	rm -f python/smolvm_core/libsmolvmcore.so python/smolvm_core/libsmolvmcore.dylib python/smolvm_core/libsmolvmcore.h
