"""The quality meter: how good a classic model's samples are, measured, not eyeballed.

python main.py score --model NAME|FILE
python -m engine.quality.train     (retrains the meters' own small networks)
"""
