package enum AWSCorePlaceholder {}
