// RUN: rm -f %t.json
// RUN: chipmesh-opt %s --chipmesh-summary=output=%t.json | FileCheck %s --check-prefix=IR
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: not chipmesh-opt %s --chipmesh-summary=output=/nonexistent/dir/x.json 2>&1 | FileCheck %s --check-prefix=ERR

// The pass leaves the IR unchanged and writes the JSON where asked.
// IR-LABEL: func.func @forward
// IR: graph.relu
// JSON: "parameters": 0
// ERR: error: cannot open '/nonexistent/dir/x.json'
func.func @forward(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = graph.relu %x : tensor<2xf32>
  return %y : tensor<2xf32>
}
