"""Importers of models written elsewhere: chipmesh.importers.fx (an
nn.Module traced by torch.fx) and chipmesh.importers.onnx (an ONNX graph).
Each is imported on use, so that the package loads without PyTorch or
ONNX installed."""
