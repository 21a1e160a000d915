package enum LambdaRuntimePlaceholder {}
