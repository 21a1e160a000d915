enum ProcessingHandlerTestsPlaceholder {}
