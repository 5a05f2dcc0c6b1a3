import os
import sys

# tests/ (for `support.ms_interpreter`) and this folder (for `gradcheck`) are importable.
_HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(_HERE), _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)
