# Risk factors for low birth weight (Hosmer and Lemeshow, 1989; Venables and Ripley, section 7.1).
# Logistic regression of low birth weight (< 2.5 kg) on the mother's age, weight, race, smoking,
# history of premature labour, hypertension, uterine irritability and physician visits, coded as
# in MASS's birthwt example.
suppressPackageStartupMessages(library(jsonlite))

raw <- read.csv("data/birthwt.csv")
births <- with(raw, data.frame(
  low = low, age = age, lwt = lwt,
  race = factor(race, labels = c("white", "black", "other")),
  smoke = (smoke > 0), ptd = factor(ptl > 0), ht = (ht > 0), ui = (ui > 0),
  ftv = factor(ftv)
))
levels(births$ftv)[-(1:2)] <- "2+"  # two or more visits in the first trimester

fit <- glm(low ~ ., family = binomial, data = births)
# Names without "+" or dots, so that a dotted JSON path can reach them.
coefficients <- setNames(as.list(round(coef(fit), 3)), sub("+", "plus", names(coef(fit)), fixed = TRUE))
names(coefficients) <- gsub("[()]", "", names(coefficients))

dir.create("results", showWarnings = FALSE)
summary <- list(
  coefficients = coefficients,
  odds_ratio_smoking = round(exp(coef(fit)[["smokeTRUE"]]), 2),
  residual_deviance = round(deviance(fit), 2),
  residual_df = fit$df.residual,
  n = nrow(births)
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
print(summary(fit))
