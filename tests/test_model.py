"""The multi-view network and its checkpoints."""
import pytest
import timm
import torch

from src.networks.model import build_model
from src.tasks import kind_of
from src.tasks.binary import bce_loss
from src.utilities import checkpoint as ckpt
from src.utilities import config as C
from src.utilities.errors import UserError

CFG = C.resolved(C.load_config(), {"model.backbone": "test_efficientnet", "model.dropout": 0.0})


def make(**over):
    args = kind_of(CFG).model_args()
    args.update(over)
    return build_model(args).eval()


def test_forward_shape_and_order():
    m = make()
    out = m(torch.randn(3, 8, 1, 64, 64))
    assert out.shape == (3, 22)
    assert bce_loss(out, torch.zeros(3, 22), 0).ndim == 0


@pytest.mark.parametrize("head", ["view", "spatial"])
def test_location_reads_only_the_views_that_can_show_it(head):
    m = make(consistency="none", location_head=head)
    x = torch.randn(1, 8, 1, 64, 64, requires_grad=True)
    cols, views = C.target_columns(CFG), C.views(CFG)
    m(x)[0, cols.index("L_MCA")].backward()
    grad = x.grad.abs().flatten(2).sum(-1)[0]
    seen = {v for v, g in zip(views, grad) if g > 0}
    assert seen == {v for v in views if "L_MCA" in CFG["visibility"][v]} == {"LI-A", "LI-B"}


def test_softor_keeps_aneurysm_at_least_as_likely_as_any_location():
    torch.manual_seed(0)
    m = make()
    with torch.no_grad():
        m.location_head.bias.fill_(2.0)          # confident locations
        p = torch.sigmoid(m(torch.randn(4, 8, 1, 64, 64)))
    assert (p[:, 0] >= p[:, 1:].max(1).values - 1e-6).all()


@pytest.mark.parametrize("pool,fusion", [("mean", "mean"), ("max", "attention"), ("gem", "attention"),
                                        ("attn", "attention")])
def test_pool_and_fusion_choices(pool, fusion):
    assert make(pool=pool, fusion=fusion)(torch.randn(2, 8, 1, 64, 64)).shape == (2, 22)


def test_spatial_location_head_sees_where_a_finding_is():
    """Same content at two places of a view gives different location logits through the position encoding."""
    torch.manual_seed(0)
    spatial = make(consistency="none", location_head="spatial")
    with torch.no_grad():
        spatial.spatial.pos.normal_(0, 1.0)
    a = torch.zeros(1, 8, 1, 64, 64)
    b = torch.zeros(1, 8, 1, 64, 64)
    a[..., 8:16, 8:16] = 3.0
    b[..., 40:48, 40:48] = 3.0
    with torch.no_grad():
        assert not torch.allclose(spatial(a)[0, 1:], spatial(b)[0, 1:], atol=1e-4)


def test_checkpoint_round_trip_rebuilds_the_network(tmp_path):
    m = make()
    path = tmp_path / "best.pt"
    ckpt.save(dict(model=m.state_dict(), model_args=kind_of(CFG).model_args(), config=CFG,
                   versions=ckpt.versions()), path)
    back = ckpt.load(path)
    m2 = build_model(back["model_args"]).eval()
    m2.load_state_dict(back["model"])
    x = torch.randn(1, 8, 1, 64, 64)
    assert torch.allclose(m(x), m2(x))


def test_unsafe_or_foreign_files_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "x": Evil()}, evil)
    with pytest.raises(UserError, match="refused"):
        ckpt.load(evil)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage" * 10)
    with pytest.raises(UserError, match="not a readable checkpoint"):
        ckpt.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(UserError, match="not a checkpoint written"):
        ckpt.load(other)


def test_pretrained_path_loads_local_rgb_weights_into_one_channel(tmp_path):
    src = timm.create_model("test_efficientnet", pretrained=False)      # an RGB ImageNet-style file
    weights = tmp_path / "imagenet.pth"
    torch.save(src.state_dict(), weights)
    m = build_model(kind_of(CFG).model_args(), pretrained_path=weights)
    stem = [k for k in src.state_dict() if k.endswith("conv_stem.weight")][0]
    got = m.backbone.state_dict()[stem]
    assert got.shape[1] == 1
    assert torch.allclose(got[:, 0], src.state_dict()[stem].sum(1), atol=1e-5)
    with pytest.raises(UserError, match="not found"):
        build_model(kind_of(CFG).model_args(), pretrained_path=tmp_path / "nope.pth")


@pytest.mark.parametrize("task,over", [
    ("kium", {"model.fusion": "mean"}),
    ("kium", {"model.location_head": "spatial", "model.pool": "attn"}),
    ("cxr_masked", {"model.mask_mode": "pool"}),
    ("cxr_masked", {"model.mask_mode": "channel", "model.fusion": "attention"}),
])
def test_every_parameter_gets_a_gradient(task, over):
    """DistributedDataParallel refuses parameters that take no part in the loss: build only what is used."""
    cfg = C.resolved(C.load_config(task), {"model.backbone": "test_efficientnet", **over})
    net = build_model(kind_of(cfg).model_args())
    channels = 2 if cfg["model"].get("mask_mode") in ("channel", "pool") else 1
    x = torch.randn(2, len(C.views(cfg)), channels, 64, 64)
    if channels == 2:
        x[:, :, 1] = (x[:, :, 1] > 0).float()
    net(x).sum().backward()
    unused = [n for n, p in net.named_parameters() if p.grad is None]
    assert not unused, unused
