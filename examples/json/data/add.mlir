func.func @main(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = arith.addf %a, %b : tensor<2x3xf32>
  %1 = arith.mulf %0, %0 : tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
