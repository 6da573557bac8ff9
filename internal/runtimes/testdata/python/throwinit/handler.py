print("init print")
raise RuntimeError("init exploded")
