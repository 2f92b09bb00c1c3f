//go:build !linux

package main

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }

func rss(pid int) (int64, error) { return 0, errNotLinux }
