"""The hierarchical counter."""

import threading

from jumpy_acme.utils import counting


def test_counts_accumulate():
  counter = counting.Counter()
  counter.increment(steps=3)
  assert counter.increment(steps=2, episodes=1) == {'steps': 5, 'episodes': 1}


def test_child_forwards_prefixed_counts_to_parent():
  parent = counting.Counter()
  actor = counting.Counter(parent, prefix='actor', time_delta=0.0)
  learner = counting.Counter(parent, prefix='learner', time_delta=0.0)
  actor.increment(steps=10)
  learner.increment(steps=4)
  actor.increment(steps=1)
  assert parent.get_counts() == {'actor_steps': 11, 'learner_steps': 4}
  assert actor.get_counts() == {'actor_steps': 11, 'learner_steps': 4}
  only = counting.Counter(parent, prefix='actor', time_delta=0.0,
                          return_only_prefixed=True)
  assert only.get_counts() == {'steps': 11}


def test_increments_from_threads_are_not_lost():
  counter = counting.Counter()
  threads = [threading.Thread(
      target=lambda: [counter.increment(steps=1) for _ in range(500)])
             for _ in range(4)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert counter.get_counts()['steps'] == 2000


def test_save_restore():
  counter = counting.Counter()
  counter.increment(steps=3)
  other = counting.Counter()
  other.restore(counter.save())
  assert other.get_counts() == {'steps': 3}
