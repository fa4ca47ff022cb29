"""metrics/: every number the harness reports, as plain functions of arrays. AUROC, thresholds and the organizers'
numbers (classification.py), pixel AUPR, Dice and IoU (pixels.py), the chance band a fold must clear
(chance.py), the one bootstrap (bootstrap.py), and pictures of scores (figures.py).

May import: utilities.
"""
