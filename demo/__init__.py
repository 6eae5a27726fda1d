from . import credit_demo
