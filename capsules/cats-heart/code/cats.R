# Fisher (1947): heart and body weights of 144 adult cats used in digitalis experiments.
# Regressions of heart weight (g) on body weight (kg), for all cats and by sex, as in Venables
# and Ripley's treatment of MASS::cats, plus the scatter plot with one fitted line per sex.
suppressPackageStartupMessages(library(jsonlite))

cats <- read.csv("data/cats.csv", stringsAsFactors = TRUE)
overall <- lm(Hwt ~ Bwt, data = cats)
by_sex <- lapply(split(cats, cats$Sex), function(d) lm(Hwt ~ Bwt, data = d))
separate_slopes <- lm(Hwt ~ Sex / Bwt, data = cats)

dir.create("results", showWarnings = FALSE)
slopes <- sapply(by_sex, function(f) coef(f)[["Bwt"]])
summary <- list(
  overall = list(intercept = round(coef(overall)[[1]], 4), slope = round(coef(overall)[[2]], 4),
                 r_squared = round(summary(overall)$r.squared, 4)),
  slope_by_sex = as.list(round(slopes, 4)),
  residual_se_separate_slopes = round(summary(separate_slopes)$sigma, 4),
  n = list(F = sum(cats$Sex == "F"), M = sum(cats$Sex == "M"))
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)

png("results/cats_scatter.png", width = 700, height = 500)
plot(Hwt ~ Bwt, data = cats, col = ifelse(Sex == "F", "red", "blue"), pch = 19,
     xlab = "body weight (kg)", ylab = "heart weight (g)", main = "Cats: heart weight against body weight")
for (s in names(by_sex)) abline(by_sex[[s]], col = ifelse(s == "F", "red", "blue"))
legend("topleft", legend = c("female", "male"), col = c("red", "blue"), pch = 19)
invisible(dev.off())

# What the figure shows, for a script to check: the sex whose fitted line is steeper.
figure <- list(steeper_line = names(slopes)[which.max(slopes)])  # "F" or "M", as in the data
write_json(figure, "results/figure.json", auto_unbox = TRUE, pretty = TRUE)
print(summary(separate_slopes))
