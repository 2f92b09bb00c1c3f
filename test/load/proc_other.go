//go:build !linux

package main

import (
	"errors"
	"syscall"
)

func childAttr() *syscall.SysProcAttr { return nil }

func rss(pid int) (memory, error) {
	return memory{}, errors.New("reading a process's RSS needs Linux (/proc)")
}
