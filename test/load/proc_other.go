//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

func childAttr() *syscall.SysProcAttr { return nil }

func rss(pid int) (memory, error) {
	return memory{}, errors.New("reading a process's RSS needs Linux (/proc)")
}

// cpuTime needs Linux (/proc): elsewhere the column stays empty.
func cpuTime(int) time.Duration { return 0 }
