package main

// main is never run: a c-shared build needs a main package, and the host
// program calls the exported functions instead.
func main() {}
