# The training-window counts of tests/train_test.cpp (Windows.AvailabilityThresholdCountsObservedPoints)
# from neuralforecast itself: its _create_windows with training_data_availability_threshold and an
# available_mask. Run: /work/venv-nf/bin/python tools/check_windows_nf.py (any python with
# neuralforecast; prints 15, 12, 97, 103, 120, 131, checked with neuralforecast 3.3.0).
import torch, numpy as np, pandas as pd, warnings, logging
warnings.filterwarnings("ignore"); logging.disable(logging.WARNING)
from neuralforecast.models import NHITS
def count(T, L, h, thr, mask, start_padding=False):
    m = NHITS(h=h, input_size=L, training_data_availability_threshold=thr, start_padding_enabled=start_padding, max_steps=1)
    y = np.arange(T, dtype=np.float32)
    temporal = torch.tensor(np.stack([y, mask.astype(np.float32)]))[None]  # [1, C, T]
    batch = {"temporal": temporal, "temporal_cols": pd.Index(["y", "available_mask"]), "y_idx": 0}
    m.val_size = 0; m.test_size = 0
    w, _, _, cond, _, _ = m._create_windows(batch, step="train")
    return len(cond)
L,h=4,2
mask=np.array([0 if 10<=t<30 else 1 for t in range(40)])
print("gap default", count(40,L,h,0.0,mask))
print("gap in=1.0", count(40,L,h,[1.0,0.0],mask))
print("full 132 out=1.0", count(132,24,12,[0.0,1.0],np.ones(132)))
print("full 132 out=0.5", count(132,24,12,[0.0,0.5],np.ones(132)))
print("pad in=0.5", count(132,24,12,[0.5,0.0],np.ones(132),True))
print("pad in=0.05", count(132,24,12,[0.05,0.0],np.ones(132),True))
