// Command hydra is Ory Hydra v2.3.0, built from the Go module proxy.
// Hydra's own main does exactly this; the wrapper exists because Hydra's
// go.mod has replace directives, which `go install module@version` refuses.
package main

import "github.com/ory/hydra/v2/cmd"

func main() {
	cmd.Execute()
}
