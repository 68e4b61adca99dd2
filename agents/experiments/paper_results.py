"""The paper's reported numbers we compare against (mean, std over 50
episodes of 400 steps), read off its Table 3. Facts, not code: kept in one
place so that benches and tables cite the same values."""

# task -> (Random-HL, Zero-shot via Planning (jumpy, K = 10),
#          Zero-shot via Planning (K = 1), Pretrained Base Policy or None),
# each (mean, std).
TABLE3 = {
    'reach_red': ((70.91, 124.06), (373.78, 27.99), (375.96, 17.86),
                  (378.43, 11.64)),
    'lift_red': ((15.63, 27.28), (307.52, 65.97), (130.16, 52.55),
                 (293.91, 31.76)),
    'red_hover_blue': ((13.90, 20.53), (278.66, 60.88), (73.41, 20.02),
                       (321.85, 48.75)),
    'red_stack_blue': ((8.25, 12.20), (169.98, 61.86), (57.28, 33.95), None),
    'red_hover_green': ((13.08, 20.00), (266.28, 79.53), (84.78, 40.51),
                        None),
    'red_stack_green': ((7.80, 12.98), (162.75, 73.69), (46.09, 13.43),
                        None),
    'bring_red': ((15.26, 27.09), (225.97, 83.76), (132.52, 100.68), None),
    'reach_green': ((36.01, 51.38), (241.41, 104.34), (375.54, 16.06), None),
    'lift_green': ((12.95, 15.30), (59.75, 26.74), (114.77, 46.45), None),
}
TASKS = tuple(TABLE3)
RANDOM_HL = {task: row[0][0] for task, row in TABLE3.items()}
