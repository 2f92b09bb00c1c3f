//go:build !linux

package main

import (
	"errors"
	"syscall"
)

func childAttr() *syscall.SysProcAttr { return nil }

func rss(pid int) (int64, error) {
	return 0, errors.New("reading a process's RSS needs Linux (/proc)")
}
