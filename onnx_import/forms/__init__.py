"""One converter per model form: integer (ConvInteger, QLinearConv, com.microsoft.QGemm, ...),
QDQ (DequantizeLinear -> Conv/Gemm/MatMul [-> QuantizeLinear]) and float (quantized later by
:mod:`axmac.onnx_import.quantize`)."""
