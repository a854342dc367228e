#!/usr/bin/env bash
# generate.sh regenerates the Go code of the driver protocol from
# driver.proto into driverv1/. The generated files are committed; run this
# after changing driver.proto and commit both.
#
# Tools (pinned; the versions are in the generated headers too):
#   apt-get install -y protobuf-compiler                       # protoc 3.21
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:$(go env GOPATH)/bin"
for tool in protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || { echo "generate.sh: $tool not found (see the header of this script)" >&2; exit 1; }
done
cd "$root"
protoc -I plugins/proto \
  --go_out=. --go_opt=module=github.com/switchboard-gw/switchboard \
  --go-grpc_out=. --go-grpc_opt=module=github.com/switchboard-gw/switchboard \
  plugins/proto/driver.proto
echo "generated plugins/proto/driverv1/"
