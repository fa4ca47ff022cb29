"""inference/: trained folds predict a test folder. predict() behind test.py (predict.py), the folds of a weights
folder loaded as one ensemble (ensemble.py), ensembles of runs (blend.py), and Grad-CAM (gradcam.py).

May import: utilities, readers, preprocessing, loading, networks, metrics, tasks, data.
"""
