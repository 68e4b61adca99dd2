"""Programs: what runs the agents' parts as processes and episodes.

The agent packages (dmpo, skill_vae, planning, harnessing, scripted) hold
parts in Acme's shape (config, networks, losses, learning, builder,
acting); the programs that put them to work live here, one module each:

  collection   phase-1 data: scripted base behaviours -> Reverb (workers)
  phase1       the phase-1 learner from a dataset or a live table
  evaluation   Random-HL / Zero-shot via Planning on the evaluation tasks
  figure2      Figure 2: one planning episode, its plans and video
  rl           phase 2 with learning: actors, learner, finetuner, evaluator

Launchers (jumpy_acme.launchers) give them flags.
"""
