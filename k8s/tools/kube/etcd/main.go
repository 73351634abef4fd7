// Command etcd is etcd's server (go.etcd.io/etcd/server/v3), built in this module so it
// shares the Kubernetes module graph; etcd's own cmd is a separate module with replaces.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
