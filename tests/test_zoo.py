"""The benchmark's full-size models are torchvision's networks, counted by their parameters."""

import pytest
import torch
from zoo.torch_models import FULL_SIZE_MODELS, build, example_input

TORCHVISION_PARAMETERS = {
    "googlenet_full": 6_624_904,  # googlenet(aux_logits=False)
    "inception_v3_full": 23_834_568,  # inception_v3: 27,161,264 less the AuxLogits head
    "resnet18_full": 11_689_512,
    "mobilenet_v2_full": 3_504_872,
}
"""torchvision's published parameter counts (`torchvision.models.*`, 1000 classes)."""


@pytest.mark.parametrize("name", sorted(FULL_SIZE_MODELS))
def test_full_size_models_have_torchvisions_parameter_counts(name: str) -> None:
    model = build(name)
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMETERS[name]
    assert example_input(name).shape == FULL_SIZE_MODELS[name].input_shape


def test_every_full_size_model_has_a_published_count() -> None:
    assert set(FULL_SIZE_MODELS) == set(TORCHVISION_PARAMETERS)


def test_the_full_inception_v3_classifies_its_299_pixel_input() -> None:
    with torch.no_grad():
        logits = build("inception_v3_full")(example_input("inception_v3_full"))
    assert logits.shape == (1, 1000)
