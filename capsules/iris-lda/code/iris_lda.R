# Fisher (1936): linear discriminant analysis of the three iris species.
# Fits MASS::lda on the four flower measurements, classifies the same 150 flowers with the
# fitted rule and writes the discriminant summary to results/lda.json (rounded as the task
# asks) and the flowers plotted on the two discriminants to results/lda_scores.png.
suppressPackageStartupMessages({
  library(MASS)
  library(jsonlite)
})

iris_data <- read.csv("data/iris.csv", stringsAsFactors = TRUE)
fit <- lda(Species ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width, data = iris_data)
trace_share <- fit$svd^2 / sum(fit$svd^2)
predicted <- predict(fit)
confusion <- table(actual = iris_data$Species, predicted = predicted$class)

dir.create("results", showWarnings = FALSE)
summary <- list(
  proportion_of_trace = list(LD1 = round(trace_share[1], 4), LD2 = round(trace_share[2], 4)),
  resubstitution_errors = sum(iris_data$Species != predicted$class),
  versicolor_as_virginica = confusion["versicolor", "virginica"],
  virginica_as_versicolor = confusion["virginica", "versicolor"],
  # Names without dots, so that a dotted JSON path can reach them.
  scaling_LD1 = setNames(as.list(round(fit$scaling[, "LD1"], 4)), sub(".", "_", rownames(fit$scaling), fixed = TRUE)),
  n = nrow(iris_data)
)
write_json(summary, "results/lda.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)

png("results/lda_scores.png", width = 700, height = 500)
plot(predicted$x, col = as.integer(iris_data$Species), pch = 19,
     main = "Iris flowers on the two linear discriminants")
legend("topright", legend = levels(iris_data$Species), col = 1:3, pch = 19)
invisible(dev.off())
print(fit)
