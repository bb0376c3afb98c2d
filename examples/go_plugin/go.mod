module cascadence.dev/examples/go_plugin

go 1.22
