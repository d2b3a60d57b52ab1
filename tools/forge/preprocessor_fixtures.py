"""Tiny ONNX stand-ins for the user-supplied preprocessor models, for the C# tests (tests/fixtures/preprocessor-models).

    /usr/bin/python3 tools/forge/preprocessor_fixtures.py

depth.onnx: "inverse depth" = mean of the three input channels, output [1, H, W] (MiDaS's layout), 64x64 input.
seg.onnx: logits [1, 150, H, W] where class 0 (wall) scores the red channel, 1 (building) green, 2 (sky) blue and
the rest -1, so a pure red/green/blue region is wall/building/sky. not-a-model.onnx: text, for the error path.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "preprocessor-models")


class MeanDepth(torch.nn.Module):
    def forward(self, image):
        return image.mean(dim=1)


class ChannelSeg(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 150, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.fill_(-1.0)
            for c in range(3):
                self.conv.weight[c, c] = 4.0
                self.conv.bias[c] = -2.0

    def forward(self, image):
        return self.conv(image)


def export(module, name, size):
    x = torch.rand(1, 3, size, size)
    torch.onnx.export(module, (x,), os.path.join(OUT, f"{name}.onnx"), input_names=["image"], output_names=["out"],
                      opset_version=17)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"width": size, "height": size, "mean": [0, 0, 0], "std": [1, 1, 1]}, f)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    export(MeanDepth(), "depth", 64)
    export(ChannelSeg(), "seg", 32)
    with open(os.path.join(OUT, "not-a-model.onnx"), "w") as f:
        f.write("this is text, not an ONNX model\n")


if __name__ == "__main__":
    main()
