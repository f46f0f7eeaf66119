# Crampton (1947): growth of the odontoblasts of guinea pigs given vitamin C as orange juice
# (OJ) or ascorbic acid (VC) at 0.5, 1 and 2 mg/day, 10 animals per group.
# Writes group means, the two-way analysis of variance, a box plot by dose and supplement,
# and the medians the box plot shows.
suppressPackageStartupMessages(library(jsonlite))

teeth <- read.csv("data/ToothGrowth.csv", stringsAsFactors = TRUE)
teeth$dose <- factor(teeth$dose)

means <- aggregate(len ~ supp + dose, data = teeth, FUN = mean)
medians <- aggregate(len ~ supp + dose, data = teeth, FUN = median)
anova_table <- summary(aov(len ~ supp * dose, data = teeth))[[1]]
rownames(anova_table) <- trimws(rownames(anova_table))

# JSON keys such as "OJ_0p5": no dots, so that a dotted JSON path can reach them.
dose_label <- function(dose) gsub(".", "p", as.character(dose), fixed = TRUE)

group_values <- function(table, digits) {
  values <- list()
  for (i in seq_len(nrow(table))) {
    values[[paste0(table$supp[i], "_", dose_label(table$dose[i]))]] <- round(table$len[i], digits)
  }
  values
}

dir.create("results", showWarnings = FALSE)
summary <- list(
  mean_length = group_values(means, 2),
  anova_F = list(supp = round(anova_table["supp", "F value"], 2),
                 dose = round(anova_table["dose", "F value"], 2),
                 interaction = round(anova_table["supp:dose", "F value"], 2)),
  n = nrow(teeth)
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)

png("results/toothgrowth_boxplot.png", width = 700, height = 500)
boxplot(len ~ supp + dose, data = teeth, col = c("orange", "lightblue"),
        xlab = "supplement.dose (mg/day)", ylab = "odontoblast length",
        main = "Tooth growth by vitamin C supplement and dose")
invisible(dev.off())

# The box plot's medians, for a script to check what the figure shows.
higher_median <- function(d) {
  if (length(unique(d$len)) == 1) "tie" else as.character(d$supp[which.max(d$len)])
}
medians_by_dose <- lapply(split(medians, medians$dose), higher_median)
names(medians_by_dose) <- paste0("dose_", dose_label(names(medians_by_dose)))
figure <- list(median_length = group_values(medians, 2), higher_median_supplement = medians_by_dose)
write_json(figure, "results/boxplot_medians.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
print(anova_table)
