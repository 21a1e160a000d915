await Task.yield()
