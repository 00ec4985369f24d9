"""Notebook 04's CAM and Grad-CAM (course_utils.lessons, taught in 04's cells) against an independent
implementation: torchcam's CAM and GradCAM (test-only dependency `torchcam`), on a ResNet-18 with random weights,
for both classes, several input sizes and Grad-CAM at layer4 and layer3. Skips when torchcam is not installed."""
import pytest
import torch

from course_utils.lessons import grad_cam, image_cam, resnet18_classifier

methods = pytest.importorskip("torchcam.methods", reason="torchcam (test-only dependency) is not installed")

SIZES = [(64, 64), (96, 160), (224, 224)]


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = resnet18_classifier(num_classes=2).eval()
    with torch.no_grad():  # random weights, but batch-norm statistics that are not all 0 / 1
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model


def _torchcam(extractor_class, net, x, class_idx, **where):
    extractor = extractor_class(net, **where)
    try:
        scores = net(x)
        return extractor(class_idx, scores, normalized=False)[0][0].detach()
    finally:
        extractor.remove_hooks()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("class_idx", [0, 1])
def test_cam_matches_torchcam(net, size, class_idx):
    torch.manual_seed(sum(size) + class_idx)
    x = torch.randn(1, 3, *size)
    ours = image_cam(net, x, class_idx=class_idx).cam
    theirs = _torchcam(methods.CAM, net, x, class_idx, target_layer="layer4", fc_layer="fc")
    assert ours.shape == theirs.shape and float(ours.abs().max()) > 0
    difference = float((ours - theirs).abs().max())
    print(f"CAM {size} class {class_idx}: largest difference {difference:.2e} "
          f" (map range {float(ours.abs().max()):.2e})")
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer", ["layer4", "layer3"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("class_idx", [0, 1])
def test_grad_cam_matches_torchcam(net, layer, size, class_idx):
    torch.manual_seed(sum(size) + 7 * class_idx)
    x = torch.randn(1, 3, *size)
    ours, chosen = grad_cam(net, x, class_idx=class_idx, layer=layer)
    theirs = _torchcam(methods.GradCAM, net, x, class_idx, target_layer=layer)
    assert chosen == class_idx and ours.shape == theirs.shape
    scale = float(ours.abs().max())
    difference = float((ours - theirs).abs().max())
    print(f"Grad-CAM {layer} {size} class {class_idx}: largest difference {difference:.2e} (map range {scale:.2e})")
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-6 * max(scale, 1e-3))
