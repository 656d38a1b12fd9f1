"""FSRCNN training with Keras fit: best-epoch restore, validation on fixed crops, the learning rate
schedule, a time budget read from an injected clock (so the test does not depend on the machine's
speed) and quick_train."""

import numpy as np
import pytest

from helpers import schedules, sr
from helpers.kit import artifacts, config
from helpers.sr import training


def small_images():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    out = []
    for i in range(2):
        field = gaussian_filter(rng.random((60, 72, 3)), (2, 2, 0))
        out.append((f"img{i}", ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)))
    return out


class FakeClock:
    """A clock that advances ``tick`` seconds every time it is read."""

    def __init__(self, tick):
        self.now, self.tick, self.reads = 0.0, tick, 0

    def __call__(self):
        self.now += self.tick
        self.reads += 1
        return self.now


def test_training_restores_the_best_epoch_and_reports_history():
    config.set_seed(0)
    model = sr.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    history, seconds = sr.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=3,
        steps_per_epoch=15,
        lr=3e-3,
        batch_size=8,
        patch_lr=12,
        verbose=False,
    )
    assert list(history.columns) == ["epoch", "steps", "loss", "val_psnr", "lr", "seconds"]
    assert list(history["steps"]) == [15, 30, 45]
    assert len(history) == 3 and seconds > 0 and np.isfinite(history["loss"]).all()
    assert history["loss"].iloc[2] < history["loss"].iloc[0]
    # the restored weights are the best epoch's: the same fixed crops give the best PSNR again
    lr, hr = sr.validation_crops(images[1:], 2, patch_lr=sr.val_patch_size(images[1:], 2))
    final = training.crops_psnr(model, lr, hr, 2)
    assert final == pytest.approx(history["val_psnr"].max(), abs=1e-4)


def test_learning_rate_follows_the_kits_warmup_cosine_over_the_steps():
    model = sr.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    history, _ = sr.train_fsrcnn(
        model, images[:1], images[1:], 2, 4, 5, lr=2e-3, batch_size=4, patch_lr=10, verbose=False
    )
    # The lr of each epoch's last step: step 5k - 1 of 20, progress (5k - 1) / 20.
    expected = [
        schedules.warmup_cosine((5 * k - 1) / 20, 2e-3, 0.03, 0.01, 0.01) for k in range(1, 5)
    ]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12)


def test_validation_crops_are_fixed_and_aligned():
    images = small_images()
    lr1, hr1 = sr.validation_crops(images, 2, n=6, patch_lr=8)
    lr2, hr2 = sr.validation_crops(images, 2, n=6, patch_lr=8)
    assert lr1.shape == (6, 8, 8, 1) and hr1.shape == (6, 16, 16, 1)
    np.testing.assert_array_equal(lr1, lr2)  # the same crops at every call: no sampling noise
    np.testing.assert_array_equal(hr1, hr2)
    with pytest.raises(ValueError, match="n must be a positive"):
        sr.validation_crops(images, 2, n=0)


def test_crops_psnr_is_the_psnr_of_the_shaved_pooled_error():
    rng = np.random.default_rng(0)
    hr = rng.random((3, 12, 12, 1)).astype(np.float32)
    lr = hr[:, ::2, ::2]
    pred = np.clip(hr + 0.01, 0, 1)

    def model(x, training=False):
        assert len(x) <= 2 and not training  # batched, inference mode
        idx = [int(np.where((lr == xi).all(axis=(1, 2, 3)))[0][0]) for xi in x]
        return pred[idx]

    got = training.crops_psnr(model, lr, hr, 2, batch=2)
    mse = np.mean(((pred.astype(np.float64) - hr)[:, 2:-2, 2:-2] * 255.0) ** 2)
    assert got == pytest.approx(10 * np.log10(255.0**2 / mse), abs=1e-9)


def test_training_rejects_bad_arguments():
    model = sr.build_fsrcnn(2, 8, 4, 1)
    with pytest.raises(ValueError, match="upscales x2"):
        sr.train_fsrcnn(model, small_images(), small_images(), 3, 1, 1)
    with pytest.raises(ValueError, match="upscales x2 but scale=1: pass scale=2"):
        sr.train_fsrcnn(model, small_images(), small_images(), 1, 1, 1)
    with pytest.raises(ValueError, match="max_seconds"):
        sr.train_fsrcnn(model, small_images(), small_images(), 2, 1, 1, max_seconds=0)
    with pytest.raises(TypeError, match="clock"):
        sr.train_fsrcnn(model, small_images(), small_images(), 2, 1, 1, clock=3.0)


def test_time_budget_stops_training_and_still_returns_the_best_weights():
    model = sr.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    # Every clock read takes 0.01 fake seconds: the 1 s budget runs out after about 80 steps,
    # whatever the machine's speed, long before the 50 x 5 = 250 steps of the step budget.
    clock = FakeClock(tick=0.01)
    history, seconds = sr.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=50,
        steps_per_epoch=5,
        batch_size=4,
        patch_lr=10,
        max_seconds=1.0,
        verbose=False,
        clock=clock,
    )
    assert 1 <= len(history) < 50 and 10 <= history["steps"].max() < 250
    assert 1.0 <= seconds <= 1.0 + 10 * clock.tick  # fake seconds: the budget was used up
    assert history["seconds"].max() <= seconds
    assert history["lr"].iloc[len(history) - 1] < 0.1 * 1e-3  # the cosine ran over the time budget


def test_a_slow_clock_ends_training_after_the_first_epoch():
    model = sr.build_fsrcnn(2, d=8, s=4, m=1)
    images = small_images()
    history, seconds = sr.train_fsrcnn(
        model,
        images[:1],
        images[1:],
        2,
        epochs=10,
        steps_per_epoch=3,
        batch_size=4,
        patch_lr=10,
        max_seconds=2.5,
        verbose=False,
        clock=FakeClock(tick=1.0),
    )
    # Reads: start (1); before step 1 (2: elapsed 1), after it (3: elapsed 2); before step 2
    # (4: elapsed 3), after it (5: elapsed 4 -> over the 2.5 s budget: stop). So exactly two steps
    # and one epoch.
    assert list(history["steps"]) == [2] and len(history) == 1


# ----------------------------------------------------------------------------- quick_train
@pytest.mark.parametrize(
    "bad", ["fsrcnn", "fsrcnn_x9", "fsrcnn_tanh_x3", "resnet", "fsrcnn_x3.keras"]
)
def test_quick_train_rejects_bad_names_before_training(bad, monkeypatch):
    monkeypatch.setattr(training, "train_fsrcnn", lambda *a, **k: pytest.fail("trained anyway"))
    with pytest.raises(ValueError, match="one of fsrcnn_x2, fsrcnn_x3"):
        sr.quick_train(bad)


def test_quick_train_rejects_a_bad_step_count():
    with pytest.raises(ValueError, match="steps must be a positive"):
        sr.quick_train("fsrcnn_x3", steps=0)


def test_quick_train_builds_the_named_variant_and_trains_it_briefly(monkeypatch):
    calls = {}

    def fake_train(model, train, val, scale, epochs, steps_per_epoch, **kwargs):
        calls.update(scale=scale, steps=epochs * steps_per_epoch, train=len(train), val=len(val))
        return None, 0.0

    monkeypatch.setattr(training, "train_fsrcnn", fake_train)
    model = sr.quick_train("fsrcnn_relu_x2")
    assert sr.fsrcnn_config(model)["activation"] == "relu" and sr.fsrcnn_scale(model) == 2
    assert calls == dict(scale=2, steps=training.QUICK_STEPS, train=12, val=3)
    assert 100 <= training.QUICK_STEPS <= 1000  # "a few hundred steps"


def test_quick_train_runs_for_real_with_a_tiny_budget():
    config.set_seed(0)
    model = sr.quick_train("fsrcnn_x2", steps=3)
    assert sr.fsrcnn_scale(model) == 2 and sr.fsrcnn_weight_count(model) == 12464


def test_load_or_train_trains_a_missing_fsrcnn_with_quick_train_and_saves_it(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(training, "QUICK_STEPS", 3)
    model, trained_here = artifacts.load_or_train("fsrcnn_x2")
    assert trained_here and artifacts.model_path("fsrcnn_x2").is_file()
    again, trained_again = artifacts.load_or_train("fsrcnn_x2")
    assert not trained_again
    x = np.random.default_rng(0).random((1, 16, 16, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)


def test_budget_schedule_rejects_bad_budgets():
    with pytest.raises(ValueError, match="total_steps"):
        training.BudgetSchedule(1e-3, 0)
    with pytest.raises(ValueError, match="max_seconds"):
        training.BudgetSchedule(1e-3, 10, max_seconds=-1)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchCallback'"):
        training.NoSuchCallback  # noqa: B018


def test_bicubic_baseline_on_the_validation_crops():
    images = small_images()
    assert sr.val_patch_size(images, 2) == 30  # 60 px high / 2: smaller than VAL_PATCH_LR
    assert sr.val_patch_size(sr.load_sr_images("val"), 3) == training.VAL_PATCH_LR
    baseline = sr.bicubic_crops_psnr(images, 2, n=8)
    # a network that is bicubic upscaling scores exactly the baseline on the same crops
    lr, hr = sr.validation_crops(images, 2, n=8, patch_lr=30)
    up = np.stack([sr.bicubic_upscale_channel(c[..., 0], 2)[..., None] for c in lr])
    mse = np.mean(((np.clip(up, 0, 1).astype(np.float64) - hr)[:, 2:-2, 2:-2] * 255) ** 2)
    assert baseline == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-9)
    assert 20 < baseline < 60
